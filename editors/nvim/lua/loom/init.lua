-- Loom for Neovim: starts `loom lsp` for the configured filetypes and adds
-- :LoomRun, :LoomExplain, :LoomCancel and :LoomThreads. Works on Neovim
-- 0.7 (vim.lsp.start_client + buf_attach_client) and 0.8+ (vim.lsp.start).
--
--   require('loom').setup{
--     cmd = { 'loom', 'lsp' },
--     filetypes = { 'go', 'python' },
--     env = { LOOM_MODEL = 'qwen2.5-coder', LOOM_BASE_URL = 'http://localhost:11434/v1' },
--   }
--
-- See :help loom.
local config = require('loom.config')

local M = {}

local group

-- setup configures the plugin and starts the client for matching buffers,
-- including those already open (a lazy-loaded plugin comes late).
function M.setup(opts)
  config.set(opts)
  require('loom.commands').define()
  group = vim.api.nvim_create_augroup('loom', { clear = true })
  local filetypes = config.options.filetypes
  if #filetypes > 0 then
    vim.api.nvim_create_autocmd('FileType', {
      group = group,
      pattern = filetypes,
      callback = function(ev)
        M.attach(ev.buf)
      end,
    })
  end
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(filetypes, vim.bo[bufnr].filetype) then
      M.attach(bufnr)
    end
  end
end

-- attach starts (or reuses) the client for a buffer; the commands call it
-- for buffers of other filetypes.
function M.attach(bufnr)
  local id, err = require('loom.client').attach(bufnr)
  if not id and err ~= 'not a file buffer' then
    require('loom.ui').error(err)
  end
  return id
end

-- The Lua API behind the commands. opts: instruction, line1, line2.
function M.run(opts)
  require('loom.run').run(opts or {})
end

function M.explain(opts)
  require('loom.run').explain(opts or {})
end

function M.cancel()
  require('loom.run').cancel()
end

function M.threads(query)
  require('loom.threads').search(query)
end

return M
