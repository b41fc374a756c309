-- The review step before Loom's edits change any buffer. The server marks
-- an edit for review with a change annotation that needs confirmation
-- (the plugin announces changeAnnotationSupport and sends
-- initializationOptions.review); this shows the edit as a unified diff in
-- a new tab and asks to accept or reject it. Neovim 0.7 answers a server
-- request with the handler's return value, so the question is the
-- blocking confirm(), which every UI supports.
local M = {}

-- needs_review reports whether edit carries an annotation that needs
-- confirmation.
function M.needs_review(edit)
  for _, a in pairs(edit.changeAnnotations or {}) do
    if type(a) == 'table' and a.needsConfirmation == true then
      return true
    end
  end
  return false
end

-- current_lines: the open buffer's lines, else the file's, else none (a
-- file the edit creates). No buffer is created for a file not open.
local function current_lines(fname)
  local bufnr = vim.fn.bufnr(fname)
  if bufnr ~= -1 and vim.api.nvim_buf_is_loaded(bufnr) then
    return vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  end
  if vim.fn.filereadable(fname) == 1 then
    return vim.fn.readfile(fname)
  end
  return {}
end

-- after applies text edits to a copy of lines in a scratch buffer.
local function after(lines, edits, encoding)
  local scratch = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(scratch, 0, -1, false, lines)
  vim.lsp.util.apply_text_edits(edits, scratch, encoding)
  local out = vim.api.nvim_buf_get_lines(scratch, 0, -1, false)
  vim.api.nvim_buf_delete(scratch, { force = true })
  return out
end

-- diff returns the edit as unified diff text, file by file, with the
-- file operations (create, rename, delete) named.
function M.diff(edit, encoding)
  local parts = {}
  local function file_diff(uri, edits)
    local fname = vim.uri_to_fname(uri)
    local old = current_lines(fname)
    local new = after(old, edits, encoding)
    local name = vim.fn.fnamemodify(fname, ':.')
    local d = vim.diff(table.concat(old, '\n') .. '\n', table.concat(new, '\n') .. '\n', { result_type = 'unified' })
    table.insert(parts, '--- a/' .. name .. '\n+++ b/' .. name .. '\n' .. d)
  end
  for _, change in ipairs(edit.documentChanges or {}) do
    if change.kind == 'create' then
      table.insert(parts, 'create ' .. vim.fn.fnamemodify(vim.uri_to_fname(change.uri), ':.') .. '\n')
    elseif change.kind == 'delete' then
      table.insert(parts, 'delete ' .. vim.fn.fnamemodify(vim.uri_to_fname(change.uri), ':.') .. '\n')
    elseif change.kind == 'rename' then
      table.insert(parts, 'rename ' .. vim.fn.fnamemodify(vim.uri_to_fname(change.oldUri), ':.') .. ' → '
        .. vim.fn.fnamemodify(vim.uri_to_fname(change.newUri), ':.') .. '\n')
    elseif change.textDocument then
      file_diff(change.textDocument.uri, change.edits)
    end
  end
  for uri, edits in pairs(edit.changes or {}) do
    file_diff(uri, edits)
  end
  return table.concat(parts, '')
end

M.buffer_name = 'loom://review'

-- ask shows the diff in a new tab and asks; true to apply the edit.
function M.ask(edit, encoding, label)
  local text = M.diff(edit, encoding)
  vim.cmd('tabnew')
  local tab_buf = vim.api.nvim_get_current_buf()
  local bufnr = require('loom.ui').scratch(M.buffer_name, text, 'diff')
  -- scratch split the new tab's empty window: keep only the diff.
  if vim.api.nvim_buf_is_valid(tab_buf) and tab_buf ~= bufnr then
    vim.cmd('only')
  end
  vim.cmd('redraw')
  local choice = vim.fn.confirm((label or 'Loom') .. ': apply this edit?', '&Accept\n&Reject', 1)
  vim.cmd('tabclose')
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_buf_delete(bufnr, { force = true })
  end
  return choice == 1
end

return M
