-- :checkhealth loom (Neovim 0.8 and later): the binary, the model
-- configuration, and the running clients.
local M = {}

-- vim.health.start/ok/... since 0.9; report_start/report_ok/... in 0.8.
local h = vim.health or require('health')
local start = h.start or h.report_start
local ok = h.ok or h.report_ok
local warn = h.warn or h.report_warn
local err = h.error or h.report_error
local info = h.info or h.report_info

local function model_source(env)
  if env.LOOM_MODEL and env.LOOM_MODEL ~= '' then
    return 'setup{env = {LOOM_MODEL = "' .. env.LOOM_MODEL .. '"}}'
  end
  if vim.env.LOOM_MODEL and vim.env.LOOM_MODEL ~= '' then
    return '$LOOM_MODEL = ' .. vim.env.LOOM_MODEL
  end
  local base = vim.env.XDG_CONFIG_HOME or ((vim.env.HOME or '') .. '/.config')
  local file = base .. '/loom/config.json'
  if vim.fn.filereadable(file) == 1 then
    return file
  end
end

function M.check()
  local config = require('loom.config').options
  local client = require('loom.client')

  start('loom: the server')
  local bin = config.cmd[1]
  if vim.fn.executable(bin) == 1 then
    local version = vim.fn.system({ bin, 'version' }):gsub('%s+$', '')
    ok(string.format('%s (%s): %s', bin, vim.fn.exepath(bin), version))
  else
    err(bin .. ' is not executable', {
      'Install loom (`make install` in its repository puts it in ~/.local/bin) and put it on PATH,',
      "or give its path: require('loom').setup{cmd = {'/path/to/loom', 'lsp'}}",
    })
  end

  start('loom: the model')
  local source = model_source(config.env or {})
  if source then
    ok('model configured by ' .. source)
  else
    warn('no model configured: the first :LoomRun will fail', {
      "require('loom').setup{env = {LOOM_MODEL = 'qwen2.5-coder', LOOM_BASE_URL = 'http://localhost:11434/v1'}}",
      'or export LOOM_MODEL (and LOOM_BASE_URL, LOOM_API_KEY) before starting Neovim',
      'or write ~/.config/loom/config.json: {"model": "...", "base_url": "...", "api_key": ""}',
    })
  end
  local key = (config.env or {}).LOOM_API_KEY or vim.env.LOOM_API_KEY or vim.env.OPENAI_API_KEY
  info(key and key ~= '' and 'an API key is set' or 'no API key set (fine for a local model)')

  start('loom: clients')
  local clients = client.all()
  if #clients == 0 then
    info('no Loom client running; filetypes: ' .. table.concat(config.filetypes, ', '))
  end
  for _, c in ipairs(clients) do
    local threads = vim.tbl_contains(client.commands(c), 'loom.searchThreads')
    ok(string.format('client %d, root %s, %s; thread search %s', c.id, c.config.root_dir or '?',
      c.initialized and 'running' or 'starting', threads and 'available' or 'not supported by this server'))
  end
end

return M
