-- Starting `loom lsp` and attaching buffers to it, on Neovim 0.7 (no
-- vim.lsp.start, no vim.fs) and on 0.8 and later. One client per
-- workspace root.
local config = require('loom.config')
local handlers = require('loom.handlers')

local M = {}

M.name = 'loom'

local uv = vim.loop
local has_start = vim.lsp.start ~= nil -- 0.8+

-- Client ids by root, for 0.7 (vim.lsp.start keeps this table itself).
local by_root = {}

-- root_of finds the workspace root for a buffer: the nearest folder above
-- its file that holds a root marker, else the current directory.
function M.root_of(bufnr)
  local opts = config.options
  if opts.root_dir then
    return opts.root_dir(bufnr)
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == '' then
    return vim.fn.getcwd()
  end
  local dir = vim.fn.fnamemodify(name, ':p:h')
  while true do
    for _, marker in ipairs(opts.root_markers) do
      if uv.fs_stat(dir .. '/' .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then
      return vim.fn.getcwd()
    end
    dir = parent
  end
end

-- capabilities adds to Neovim's defaults what Loom needs:
--  - Explain opens its Markdown with window/showDocument on a loom: URI
--    whose text comes from workspace/textDocumentContent (handlers.lua);
--  - code actions resolved for their command: Neovim sends every action
--    without an edit to codeAction/resolve and runs the resolved command,
--    so saying so makes the server hand out actions it can resolve;
--  - with review on, edits as documentChanges with change annotations,
--    which the server marks for review (handlers.lua, review.lua).
local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps = vim.tbl_deep_extend('force', caps, {
    window = { showDocument = { support = true } },
    workspace = { textDocumentContent = { dynamicRegistration = false } },
    textDocument = { codeAction = { resolveSupport = { properties = { 'edit', 'command' } } } },
  })
  if config.options.review then
    caps = vim.tbl_deep_extend('force', caps, {
      workspace = { workspaceEdit = { documentChanges = true, changeAnnotationSupport = { groupsOnLabel = false } } },
    })
  end
  return vim.tbl_deep_extend('force', caps, config.options.capabilities or {})
end

local function client_config(root)
  local opts = config.options
  return {
    name = M.name,
    cmd = opts.cmd,
    cmd_env = opts.env,
    root_dir = root,
    capabilities = capabilities(),
    init_options = { review = opts.review and true or false },
    handlers = handlers.for_client(opts),
    commands = {
      ['loom.run'] = function(command, ctx)
        require('loom.run').client_command(command, ctx)
      end,
    },
    on_attach = opts.on_attach,
  }
end

-- attach connects a buffer to the client for its root, starting the
-- client if needed. Returns the client id, or nil with a message.
function M.attach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if vim.bo[bufnr].buftype ~= '' or vim.api.nvim_buf_get_name(bufnr) == '' then
    return nil, 'not a file buffer'
  end
  local root = M.root_of(bufnr)
  if has_start then
    local id = vim.lsp.start(client_config(root), { bufnr = bufnr })
    if not id then
      return nil, 'cannot start ' .. table.concat(config.options.cmd, ' ') .. ' (see :checkhealth loom)'
    end
    return id
  end
  local id = by_root[root]
  local client = id and vim.lsp.get_client_by_id(id)
  if not client or M.stopped(client) then
    id = vim.lsp.start_client(client_config(root))
    if not id then
      return nil, 'cannot start ' .. table.concat(config.options.cmd, ' ') .. ' (see :checkhealth loom)'
    end
    by_root[root] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

-- stopped reports whether a client's server has exited.
function M.stopped(client)
  if vim.fn.has('nvim-0.11') == 1 then
    return client:is_stopped()
  end
  return client.is_stopped()
end

-- all returns every running Loom client.
function M.all()
  local list = vim.lsp.get_clients and vim.lsp.get_clients({ name = M.name }) or vim.lsp.get_active_clients()
  return vim.tbl_filter(function(c)
    return c.name == M.name
  end, list)
end

-- for_buffer returns the Loom client attached to bufnr, or nil.
function M.for_buffer(bufnr)
  local list
  if vim.lsp.get_clients then
    list = vim.lsp.get_clients({ bufnr = bufnr, name = M.name })
  else
    list = vim.tbl_values(vim.lsp.buf_get_clients(bufnr))
  end
  for _, c in ipairs(list) do
    if c.name == M.name then
      return c
    end
  end
end

-- ready returns the client for bufnr once it is initialized (attaching the
-- buffer first if needed), or nil and a reason. Requests sent before the
-- initialize answer would be refused by the server.
function M.ready(bufnr, timeout_ms)
  local client = M.for_buffer(bufnr)
  if not client then
    local id, err = M.attach(bufnr)
    if not id then
      return nil, err
    end
    client = vim.lsp.get_client_by_id(id)
  end
  local ok = vim.wait(timeout_ms or 10000, function()
    return client.initialized == true or M.stopped(client)
  end, 10)
  if not ok or not client.initialized then
    return nil, 'the server did not start (see :LspInfo and :checkhealth loom)'
  end
  return client
end

-- request sends a request with a callback(err, result); client:request on
-- 0.11 and later, client.request before.
function M.request(client, method, params, callback, bufnr)
  local function handler(err, result)
    callback(err, result)
  end
  if vim.fn.has('nvim-0.11') == 1 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

function M.notify(client, method, params)
  if vim.fn.has('nvim-0.11') == 1 then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

-- commands lists the workspace/executeCommand commands the server offers.
function M.commands(client)
  local caps = client.server_capabilities or {}
  local provider = caps.executeCommandProvider
  return type(provider) == 'table' and provider.commands or {}
end

return M
