-- Run by run.sh inside `nvim --headless -u NONE -n greet.go`: attaches
-- `loom lsp` with Neovim 0.7's own client, asks for code actions at a
-- diagnostic, runs "Loom: Fix", lets Neovim's workspace/applyEdit handler
-- apply the edit, and writes the buffer. run.sh checks the file on disk.

local function fail(msg)
  io.stderr:write('nvim e2e: FAIL: ' .. msg .. '\n')
  vim.cmd('cquit 1')
end

local ok, err = pcall(function()
  local loom = os.getenv('LOOM')
  local bufnr = vim.api.nvim_get_current_buf()
  local id = vim.lsp.start_client({
    name = 'loom',
    cmd = { loom, 'lsp' },
    root_dir = vim.fn.getcwd(),
  })
  if not id then
    return fail('vim.lsp.start_client returned nil')
  end
  vim.lsp.buf_attach_client(bufnr, id)
  local client
  local ready = vim.wait(10000, function()
    client = vim.lsp.get_client_by_id(id)
    return client ~= nil and client.initialized == true
  end, 10)
  if not ready then
    return fail('the server did not initialize')
  end

  -- Keystrokes reach the server as incremental didChange: dropping the
  -- closing brace brings a syntax error from the server, putting it back
  -- clears it.
  local function loom_diags()
    return #vim.tbl_filter(function(d) return d.source == 'loom' end, vim.diagnostic.get(bufnr))
  end
  local last = vim.api.nvim_buf_get_lines(bufnr, 3, 4, true)[1]
  vim.api.nvim_buf_set_text(bufnr, 3, #last - 1, 3, #last, { '' })
  if not vim.wait(5000, function() return loom_diags() > 0 end, 10) then
    return fail('no syntax error reported for the broken buffer')
  end
  vim.api.nvim_buf_set_text(bufnr, 3, #last - 1, 3, #last - 1, { '}' })
  if not vim.wait(5000, function() return loom_diags() == 0 end, 10) then
    return fail('the syntax error stayed after the fix: ' .. vim.inspect(vim.diagnostic.get(bufnr)))
  end

  local diagnostic = {
    range = { start = { line = 3, character = 0 }, ['end'] = { line = 3, character = 42 } },
    message = 'greeting is too terse',
    severity = 2,
  }
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    range = diagnostic.range,
    context = { diagnostics = { diagnostic } },
  }
  local responses = vim.lsp.buf_request_sync(bufnr, 'textDocument/codeAction', params, 10000)
  local fix, titles = nil, {}
  for _, resp in pairs(responses or {}) do
    if resp.err then
      return fail('codeAction: ' .. vim.inspect(resp.err))
    end
    for _, action in ipairs(resp.result or {}) do
      table.insert(titles, action.title)
      if action.title == 'Loom: Fix' then
        fix = action
      end
    end
  end
  if not fix then
    return fail('no "Loom: Fix" among ' .. vim.inspect(titles))
  end
  if not fix.command or fix.command.command ~= 'loom.run' then
    return fail('"Loom: Fix" carries no loom.run command: ' .. vim.inspect(fix))
  end

  -- Run the command as Neovim does when the user picks the action; the
  -- server sends workspace/applyEdit before it answers.
  local done, cmd_err, result = false, nil, nil
  client.request('workspace/executeCommand', fix.command, function(e, r)
    cmd_err, result, done = e, r, true
  end, bufnr)
  if not vim.wait(30000, function() return done end, 10) then
    return fail('loom.run did not answer')
  end
  if cmd_err then
    return fail('loom.run failed: ' .. vim.inspect(cmd_err))
  end
  if not (result and result.applied) then
    return fail('the edit was not applied: ' .. vim.inspect(result))
  end
  local line = vim.api.nvim_buf_get_lines(bufnr, 3, 4, true)[1]
  if line ~= 'func greeting() string { return "hello 😀 世界" }' then
    return fail('buffer line 4 is ' .. vim.inspect(line))
  end
  vim.cmd('write')
  vim.lsp.stop_client(id)
  print('nvim e2e: edit applied and written')
end)
if not ok then
  fail(tostring(err))
end
vim.cmd('qall!')
