-- The user commands. Defined by plugin/loom.lua at startup (before setup
-- they start the client with the defaults) and again by setup() (for a
-- runtimepath added after startup, where plugin/ is not sourced).
local M = {}

local function loom()
  return require('loom')
end

function M.define()
  local cmd = vim.api.nvim_create_user_command
  cmd('LoomRun', function(o)
    loom().run({ instruction = o.args, line1 = o.line1, line2 = o.line2 })
  end, { nargs = '*', range = true, desc = 'Loom: run an instruction on the lines (default: the current line)' })
  cmd('LoomExplain', function(o)
    loom().explain({ line1 = o.line1, line2 = o.line2 })
  end, { range = true, desc = 'Loom: explain the lines in a Markdown split' })
  cmd('LoomCancel', function()
    loom().cancel()
  end, { desc = 'Loom: cancel the runs in progress' })
  cmd('LoomThreads', function(o)
    loom().threads(o.args)
  end, { nargs = '*', desc = 'Loom: search past agent threads and open one' })
end

return M
