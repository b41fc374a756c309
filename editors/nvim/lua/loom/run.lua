-- :LoomRun, :LoomExplain and :LoomCancel: the agent on a range of lines,
-- through workspace/executeCommand loom.run. The server sends its edit with
-- workspace/applyEdit (applied to the buffers by Neovim's own handler)
-- before it answers; nothing is written to disk until you :w.
local client = require('loom.client')
local handlers = require('loom.handlers')
local ui = require('loom.ui')

local M = {}

-- LSP error codes the results are told apart by.
local REQUEST_CANCELLED = -32800
local REQUEST_FAILED = -32803 -- the server has already shown the reason

-- The result of the last run, for scripts and User LoomRunDone autocmds.
M.last = nil

-- width returns the length of line in the client's position encoding:
-- UTF-16 on 0.7 (it advertises no other), possibly UTF-8 on 0.10+.
local function width(line, encoding)
  if encoding == 'utf-8' then
    return #line
  elseif encoding == 'utf-32' then
    return vim.fn.strchars(line)
  end
  if vim.fn.has('nvim-0.11') == 1 then
    return vim.str_utfindex(line, 'utf-16')
  end
  local _, utf16 = vim.str_utfindex(line)
  return utf16
end

-- line_range is the LSP range covering lines line1..line2 (1-based,
-- whole lines).
function M.line_range(bufnr, line1, line2, encoding)
  local last = vim.api.nvim_buf_get_lines(bufnr, line2 - 1, line2, false)[1] or ''
  return {
    start = { line = line1 - 1, character = 0 },
    ['end'] = { line = line2 - 1, character = width(last, encoding or 'utf-16') },
  }
end

local function done(err, result)
  M.last = { err = err, result = result }
  vim.cmd('doautocmd <nomodeline> User LoomRunDone')
end

-- report tells the user how a run ended. Answers (Explain) were shown by
-- the server itself, failures too (window/showMessage).
local function report(err, result)
  if err then
    if err.code == REQUEST_CANCELLED then
      ui.info('cancelled; nothing was changed.')
    elseif err.code ~= REQUEST_FAILED then
      ui.error(err.message or vim.inspect(err))
    end
    return
  end
  if type(result) ~= 'table' or type(result.files) ~= 'table' or #result.files == 0 then
    return
  end
  local files = table.concat(result.files, ', ')
  if result.applied then
    ui.info('edited ' .. files .. ' (unsaved: :w to write, u to undo). ' .. ui.clip(result.final, 200))
  else
    ui.warn('the edit of ' .. files .. ' was not applied.')
  end
end

-- execute runs a loom.run command (arguments as the server built them, or
-- ours) and reports the outcome.
local function execute(c, bufnr, command)
  client.request(c, 'workspace/executeCommand', command, function(err, result)
    report(err, result)
    done(err, result)
  end, bufnr)
end

-- target returns the ready client and the range for a command's lines.
local function target(opts)
  local bufnr = vim.api.nvim_get_current_buf()
  if vim.api.nvim_buf_get_name(bufnr) == '' then
    return nil, 'this buffer has no file; Loom works on files in the workspace'
  end
  local c, err = client.ready(bufnr)
  if not c then
    return nil, err
  end
  local line1, line2 = opts.line1, opts.line2
  if not line1 then -- called from Lua without a range: the cursor's line
    line1 = vim.api.nvim_win_get_cursor(0)[1]
    line2 = line1
  end
  return { client = c, bufnr = bufnr, range = M.line_range(bufnr, line1, line2, c.offset_encoding) }
end

-- run is :LoomRun. opts: instruction (asked for when empty), line1 and
-- line2 (1-based; default the cursor's line).
function M.run(opts)
  local t, err = target(opts)
  if not t then
    return ui.error(err)
  end
  local function go(instruction)
    if not instruction or not instruction:match('%S') then
      return
    end
    execute(t.client, t.bufnr, {
      command = 'loom.run',
      arguments = { { instruction = instruction, uri = vim.uri_from_bufnr(t.bufnr), range = t.range } },
    })
  end
  if opts.instruction and opts.instruction:match('%S') then
    return go(opts.instruction)
  end
  vim.ui.input({ prompt = 'Loom: ' }, go)
end

-- client_command runs loom.run when it comes from a code action picked in
-- vim.lsp.buf.code_action() (registered as the client's `commands`), so
-- "Loom: Edit with instruction…", which carries no instruction because LSP
-- has no way to ask for one, prompts for it here.
function M.client_command(command, ctx)
  local c = vim.lsp.get_client_by_id(ctx.client_id)
  if not c then
    return
  end
  local args = vim.deepcopy((command.arguments or {})[1] or {})
  local function go()
    execute(c, ctx.bufnr, { command = command.command, arguments = { args } })
  end
  if type(args.instruction) == 'string' and args.instruction:match('%S') then
    return go()
  end
  vim.ui.input({ prompt = 'Loom: ' }, function(instruction)
    if instruction and instruction:match('%S') then
      args.instruction = instruction
      go()
    end
  end)
end

-- explain is :LoomExplain: the server's "Loom: Explain" code action on the
-- lines (so its wording and the quoted selection come from the server).
-- The answer opens in a Markdown split (handlers.lua).
function M.explain(opts)
  local t, err = target(opts)
  if not t then
    return ui.error(err)
  end
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(t.bufnr) },
    range = t.range,
    context = { diagnostics = {}, only = { 'loom.explain' } },
  }
  client.request(t.client, 'textDocument/codeAction', params, function(e, actions)
    if e then
      return ui.error('codeAction: ' .. (e.message or vim.inspect(e)))
    end
    for _, a in ipairs(actions or {}) do
      if a.kind == 'loom.explain' or a.title == 'Loom: Explain' then
        if type(a.command) == 'string' then -- a bare Command
          return execute(t.client, t.bufnr, a)
        elseif a.command then
          return execute(t.client, t.bufnr, a.command)
        end
        -- Resolvable only: the command comes from codeAction/resolve.
        return client.request(t.client, 'codeAction/resolve', a, function(re, resolved)
          if re or not (resolved and resolved.command) then
            return ui.error('cannot resolve "Loom: Explain": ' .. (re and re.message or 'no command'))
          end
          execute(t.client, t.bufnr, resolved.command)
        end, t.bufnr)
      end
    end
    ui.error('the server offers no "Loom: Explain" action here')
  end, t.bufnr)
end

-- cancel is :LoomCancel: stops every run in progress. The server ends the
-- model call and the tools; nothing staged is applied.
function M.cancel()
  local n = 0
  for _, c in ipairs(client.all()) do
    for token in pairs(handlers.active[c.id] or {}) do
      client.notify(c, 'window/workDoneProgress/cancel', { token = token })
      n = n + 1
    end
  end
  if n == 0 then
    ui.info('nothing is running.')
  end
end

return M
