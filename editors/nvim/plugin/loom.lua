-- Loom's user commands, available as soon as the plugin is on the
-- runtimepath. Nothing starts until require('loom').setup{} (or a command)
-- is called: see :help loom.
if vim.g.loaded_loom then
  return
end
vim.g.loaded_loom = true
require('loom.commands').define()
