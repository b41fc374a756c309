-- :LoomThreads: search the recorded agent threads through the server
-- (loom.searchThreads {query} -> {id, title, updated, snippet}[]), pick one
-- with vim.ui.select, and read it (loom.showThread {id} -> Markdown) in a
-- scratch buffer.
local client = require('loom.client')
local ui = require('loom.ui')

local M = {}

local SEARCH, SHOW = 'loom.searchThreads', 'loom.showThread'
local METHOD_NOT_FOUND = -32601

local UNSUPPORTED = 'this loom server cannot search threads (no loom.searchThreads/loom.showThread); '
  .. 'update loom, or run `loom threads search` in a terminal.'

-- unsupported tells "the server lacks the command" from other failures:
-- older servers answer an unknown command with MethodNotFound or with
-- InvalidParams "unknown command".
local function unsupported(err)
  return err.code == METHOD_NOT_FOUND or tostring(err.message):lower():find('unknown command', 1, true) ~= nil
end

local function execute(c, command, arg, callback)
  client.request(c, 'workspace/executeCommand', { command = command, arguments = { arg } }, function(err, result)
    if err then
      if unsupported(err) then
        return ui.warn(UNSUPPORTED)
      end
      return ui.error(command .. ': ' .. (err.message or vim.inspect(err)))
    end
    callback(result)
  end)
end

-- the client of the current buffer, else any Loom client: the threads are
-- the user's, not the buffer's.
local function any_client()
  local c = client.for_buffer(vim.api.nvim_get_current_buf())
  if c and c.initialized then
    return c
  end
  for _, other in ipairs(client.all()) do
    if other.initialized then
      return other
    end
  end
  return client.ready(vim.api.nvim_get_current_buf())
end

function M.format(hit)
  local when = (hit.updated or ''):gsub('T', ' '):gsub('%..*$', ''):gsub('Z$', '')
  local snippet = (hit.snippet or ''):gsub('[«»]', '')
  return string.format('%s  (%s)  %s', hit.title ~= '' and hit.title or hit.id, when, ui.clip(snippet, 80))
end

-- open reads one thread into a scratch buffer.
function M.open(c, id)
  execute(c, SHOW, { id = id }, function(markdown)
    if type(markdown) ~= 'string' then
      return ui.error(SHOW .. ' returned no text for ' .. id)
    end
    ui.scratch('loom://thread/' .. id, markdown, 'markdown')
  end)
end

function M.search(query)
  local c, err = any_client()
  if not c then
    return ui.error(err)
  end
  if not vim.tbl_contains(client.commands(c), SEARCH) then
    return ui.warn(UNSUPPORTED)
  end
  local function go(q)
    if not q or not q:match('%S') then
      return
    end
    execute(c, SEARCH, { query = q }, function(hits)
      if type(hits) ~= 'table' or #hits == 0 then
        return ui.info('no thread matches "' .. q .. '".')
      end
      vim.ui.select(hits, { prompt = 'Loom threads matching "' .. q .. '"', format_item = M.format }, function(hit)
        if hit then
          M.open(c, hit.id)
        end
      end)
    end)
  end
  if query and query:match('%S') then
    return go(query)
  end
  vim.ui.input({ prompt = 'Search Loom threads: ' }, go)
end

return M
