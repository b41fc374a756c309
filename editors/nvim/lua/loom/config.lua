-- The plugin's configuration: defaults, merged with what setup() gets.
local M = {}

M.defaults = {
  -- The server command; `loom` must be on PATH, or give an absolute path.
  cmd = { 'loom', 'lsp' },
  -- Buffers of these filetypes get the client: the languages Loom's
  -- tree-sitter analysis knows. :LoomRun works in any buffer with a file.
  filetypes = {
    'go', 'python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact',
    'rust', 'java', 'c', 'cpp', 'ruby',
  },
  -- Added to the server's environment, e.g. { LOOM_MODEL = 'qwen2.5-coder',
  -- LOOM_BASE_URL = 'http://localhost:11434/v1' }. Prefer exporting
  -- LOOM_API_KEY in the shell to writing a key into your config.
  env = {},
  -- The workspace root is the nearest folder above the file holding one of
  -- these; else the current directory. root_dir = function(bufnr) overrides.
  root_markers = { '.git', 'go.mod', 'package.json', 'Cargo.toml', 'pyproject.toml', 'Makefile' },
  root_dir = nil,
  -- Echo the agent's steps (model turns, tool calls) while it works.
  progress = true,
  -- Show each of Loom's edits as a diff to accept or reject before it
  -- changes any buffer. false: edits go straight into the buffers.
  review = true,
  -- Passed through to the client.
  on_attach = nil,
  capabilities = nil,
}

M.options = vim.deepcopy(M.defaults)

function M.set(opts)
  M.options = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  -- A list replaces the default list instead of being merged into it by
  -- index (tbl_deep_extend merges lists like dicts).
  for _, key in ipairs({ 'cmd', 'filetypes', 'root_markers' }) do
    if opts and opts[key] then
      M.options[key] = opts[key]
    end
  end
  return M.options
end

return M
