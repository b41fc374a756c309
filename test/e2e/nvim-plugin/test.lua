-- Run by run.sh inside `nvim --headless -u NONE -n` in the project folder:
-- loads editors/nvim from a clean configuration, as a user would with a
-- plugin manager, and drives it through its commands. run.sh checks the
-- file on disk afterwards.
local env = {
  loom = os.getenv('LOOM'),
  url = os.getenv('LOOM_TEST_BASE_URL'),
  requests = os.getenv('LOOM_TEST_REQUESTS'),
  plugin = os.getenv('LOOM_PLUGIN'),
}

local function fail(msg)
  io.stderr:write('nvim-plugin e2e: FAIL: ' .. msg .. '\n')
  vim.cmd('cquit 1')
end

-- Everything the plugin tells the user, kept for the checks and shown on
-- failure.
local notes = {}
vim.notify = function(msg, level)
  table.insert(notes, msg)
  io.stdout:write('notify[' .. tostring(level) .. ']: ' .. msg .. '\n')
end
local function noted(pattern)
  for _, n in ipairs(notes) do
    if n:find(pattern, 1, true) then
      return true
    end
  end
  return false
end

local runs = 0
local function wait_runs(n, what)
  if not vim.wait(30000, function() return runs >= n end, 10) then
    fail(what .. ' did not finish; notes: ' .. vim.inspect(notes))
  end
  local last = require('loom.run').last
  if last.err then
    fail(what .. ' failed: ' .. vim.inspect(last.err))
  end
  return last.result
end

local function line(n)
  return vim.api.nvim_buf_get_lines(0, n - 1, n, true)[1]
end

-- The user messages the model received, in order.
local function user_messages()
  local f = assert(io.open(env.requests))
  local reqs = vim.fn.json_decode(f:read('*a'))
  f:close()
  local out = {}
  for _, r in ipairs(reqs) do
    for _, m in ipairs(r.body.messages) do
      if m.role == 'user' then
        table.insert(out, m.content)
      end
    end
  end
  return out
end

local function asked(text)
  for _, m in ipairs(user_messages()) do
    if m:find(text, 1, true) then
      return true
    end
  end
  return false
end

local ok, err = pcall(function()
  if os.getenv('LOOM_TEST_DEBUG') then vim.lsp.set_log_level('debug') end
  vim.opt.runtimepath:prepend(env.plugin)
  require('loom').setup({
    cmd = { env.loom, 'lsp' },
    filetypes = { 'go' },
    env = { LOOM_MODEL = 'llmtest', LOOM_BASE_URL = env.url },
  })
  for _, c in ipairs({ 'LoomRun', 'LoomExplain', 'LoomCancel', 'LoomThreads' }) do
    if vim.fn.exists(':' .. c) ~= 2 then
      return fail(':' .. c .. ' is not defined after setup')
    end
  end
  vim.api.nvim_create_autocmd('User', { pattern = 'LoomRunDone', callback = function() runs = runs + 1 end })

  -- The FileType autocmd attaches the client.
  vim.cmd('filetype on')
  vim.cmd('edit greet.go')
  local client
  if not vim.wait(10000, function()
    client = require('loom.client').for_buffer(0)
    return client ~= nil and client.initialized == true
  end, 10) then
    return fail('no Loom client attached to greet.go; notes: ' .. vim.inspect(notes))
  end
  if client.config.root_dir ~= vim.fn.getcwd() then
    return fail('root is ' .. tostring(client.config.root_dir) .. ', want the folder with go.mod')
  end

  -- Ranges are in the client's encoding: line 8 ends 20 UTF-16 units in
  -- (the emoji counts 2; it is 4 bytes and 1 code point).
  local run = require('loom.run')
  for enc, want in pairs({ ['utf-16'] = 20, ['utf-8'] = 22, ['utf-32'] = 19 }) do
    local r = run.line_range(0, 6, 8, enc)
    if r.start.line ~= 5 or r.start.character ~= 0 or r['end'].line ~= 7 or r['end'].character ~= want then
      return fail(enc .. ' range of lines 6-8: ' .. vim.inspect(r))
    end
  end
  if client.offset_encoding ~= 'utf-16' then
    return fail('Neovim 0.7 and Loom should agree on UTF-16, not ' .. tostring(client.offset_encoding))
  end

  -- The review step: each edit is shown as a diff in a new tab (loom://review)
  -- and confirm() asks to accept or reject it. confirm() is replaced by one
  -- that records what is on screen and answers `verdict`.
  local reviews, verdict = {}, 1
  local greet_buf = vim.api.nvim_get_current_buf()
  vim.fn.confirm = function(msg, choices)
    table.insert(reviews, {
      msg = msg, choices = choices, name = vim.api.nvim_buf_get_name(0), filetype = vim.bo.filetype,
      diff = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, true), '\n'),
      before = table.concat(vim.api.nvim_buf_get_lines(greet_buf, 0, -1, true), '\n'),
    })
    return verdict
  end

  -- :LoomRun on a visual selection of lines 6-8.
  vim.cmd('normal! 6GV8G\27')
  if vim.fn.line("'<") ~= 6 or vim.fn.line("'>") ~= 8 then
    return fail('the visual marks are not on lines 6-8')
  end
  vim.cmd("'<,'>LoomRun Say hello with Printf")
  local res = wait_runs(1, ':LoomRun')
  if not (res and res.applied and vim.deep_equal(res.files, { 'greet.go' })) then
    return fail(':LoomRun result: ' .. vim.inspect(res))
  end
  if line(7) ~= '\tfmt.Printf("hello, %s 😀\\n", name)' then
    return fail('line 7 after :LoomRun is ' .. vim.inspect(line(7)))
  end
  if not noted('edited greet.go') then
    return fail('no message named the edited file: ' .. vim.inspect(notes))
  end
  local r = reviews[1]
  if #reviews ~= 1 or r.name ~= 'loom://review' or r.filetype ~= 'diff' or not r.msg:find('apply this edit', 1, true)
    or not r.diff:find('-\tfmt.Println("hi " + name)', 1, true) or not r.diff:find('+\tfmt.Printf("hello, %s 😀\\n", name)', 1, true)
    or not r.diff:find('--- a/greet.go', 1, true) then
    return fail('the review of :LoomRun showed ' .. vim.inspect(reviews))
  end
  if r.before:find('Printf', 1, true) then
    return fail('the buffer changed before the review was accepted')
  end
  if vim.api.nvim_buf_get_name(0):match('loom://review') or vim.fn.tabpagenr('$') ~= 1 then
    return fail('the review tab is still open')
  end
  vim.cmd('write')

  -- :LoomExplain: the server's Explain action; the answer arrives by
  -- window/showDocument and opens in a Markdown split.
  vim.cmd('6,8LoomExplain')
  wait_runs(2, ':LoomExplain')
  local answer
  if not vim.wait(5000, function()
    for _, b in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_get_name(b):match('^loom:') then
        answer = b
        return true
      end
    end
  end, 10) then
    return fail('no answer buffer opened; notes: ' .. vim.inspect(notes))
  end
  local text = table.concat(vim.api.nvim_buf_get_lines(answer, 0, -1, true), '\n')
  if not text:find('`greet` prints a greeting', 1, true) or vim.bo[answer].filetype ~= 'markdown' then
    return fail('the answer buffer holds ' .. vim.inspect(text))
  end
  vim.cmd('close')
  vim.cmd('buffer greet.go')

  -- "Loom: Edit with instruction…" picked from vim.lsp.buf.code_action():
  -- the plugin asks for the instruction the action leaves out.
  vim.ui.select = function(items, opts, on_choice)
    for i, item in ipairs(items) do
      if opts.format_item(item):find('Edit with instruction', 1, true) then
        return on_choice(item, i)
      end
    end
    fail('no "Edit with instruction…" among the code actions')
  end
  vim.ui.input = function(_, on_confirm)
    on_confirm('Greet the world in Chinese')
  end
  vim.api.nvim_win_set_cursor(0, { 10, 0 })
  vim.lsp.buf.code_action()
  res = wait_runs(3, 'Edit with instruction…')
  if not (res and res.applied) or line(10) ~= 'func main() { greet("世界") }' then
    return fail('after Edit with instruction…: ' .. vim.inspect(res) .. ', line 10 ' .. vim.inspect(line(10)))
  end
  if #reviews ~= 2 then
    return fail('Edit with instruction… was not reviewed: ' .. vim.inspect(reviews))
  end
  vim.cmd('write')

  -- A rejected review: nothing changes, and the server hears so.
  verdict = 2
  vim.cmd('5LoomRun Shout the comment')
  res = wait_runs(4, 'the rejected run')
  if not res or res.applied ~= false or #reviews ~= 3 or not reviews[3].diff:find('+// GREET PRINTS A GREETING.', 1, true) then
    return fail('after rejecting: ' .. vim.inspect(res) .. ' reviews ' .. vim.inspect(reviews))
  end
  if line(5) ~= '// greet prints a greeting.' or vim.bo.modified then
    return fail('the rejected edit changed the buffer: line 5 ' .. vim.inspect(line(5)))
  end

  -- What the model was asked: the typed instructions, and the server's
  -- Explain wording with the selected text it read through the plugin's
  -- range.
  for _, want in ipairs({ 'Say hello with Printf', 'Greet the world in Chinese', 'greet.go, lines 6-8', '😀 end of greet' }) do
    if not asked(want) then
      return fail('no model request carried ' .. vim.inspect(want) .. ': ' .. vim.inspect(user_messages()))
    end
  end

  -- :LoomThreads: the server (its thread database under XDG_DATA_HOME)
  -- offers the thread commands; find the run above and open it.
  local commands = require('loom.client').commands(client)
  for _, want in ipairs({ 'loom.searchThreads', 'loom.showThread' }) do
    if not vim.tbl_contains(commands, want) then
      return fail('the server does not offer ' .. want .. '; it offers ' .. vim.inspect(commands) .. '; notes: ' .. vim.inspect(notes))
    end
  end
  vim.ui.select = function(items, _, on_choice)
    on_choice(items[1], 1)
  end
  -- A phrase: the other runs' threads hold "Printf" and "hello" too.
  vim.cmd('LoomThreads "Say hello with Printf"')
  if not vim.wait(5000, function() return vim.api.nvim_buf_get_name(0):match('loom://thread/') ~= nil end, 10) then
    return fail(':LoomThreads opened no thread; notes: ' .. vim.inspect(notes))
  end
  local thread = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, true), '\n')
  if not thread:find('Say hello with Printf', 1, true) then
    return fail('the thread buffer lacks the instruction: ' .. thread)
  end

  vim.lsp.stop_client(client.id)
  io.stdout:write('nvim-plugin e2e: all steps passed\n')
end)
if not ok then
  fail(tostring(err))
end
vim.cmd('qall!')
