-- Small UI pieces: messages and scratch buffers for Loom's text.
local M = {}

function M.info(msg)
  vim.notify('Loom: ' .. msg, vim.log.levels.INFO)
end

function M.warn(msg)
  vim.notify('Loom: ' .. msg, vim.log.levels.WARN)
end

function M.error(msg)
  vim.notify('Loom: ' .. msg, vim.log.levels.ERROR)
end

-- scratch shows text in a split holding an unlisted buffer that is never
-- written (an answer or a thread is not a file). A buffer of the same name
-- is reused, so showing a thread twice does not pile up buffers.
function M.scratch(name, text, filetype)
  local bufnr = vim.fn.bufnr(name)
  if bufnr == -1 then
    bufnr = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(bufnr, name)
  end
  vim.bo[bufnr].modifiable = true
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, vim.split(text, '\n', { plain = true }))
  vim.bo[bufnr].buftype = 'nofile'
  vim.bo[bufnr].bufhidden = 'hide'
  vim.bo[bufnr].swapfile = false
  vim.bo[bufnr].modifiable = false
  vim.bo[bufnr].filetype = filetype or 'markdown'
  local win = vim.fn.bufwinid(bufnr)
  if win == -1 then
    vim.cmd('split')
    vim.api.nvim_win_set_buf(0, bufnr)
  else
    vim.api.nvim_set_current_win(win)
  end
  return bufnr
end

-- clip shortens s to one line of at most n characters.
function M.clip(s, n)
  s = (s or ''):gsub('%s+', ' '):gsub('^ ', ''):gsub(' $', '')
  if vim.fn.strchars(s) <= n then
    return s
  end
  return vim.fn.strcharpart(s, 0, n - 1) .. '…'
end

return M
