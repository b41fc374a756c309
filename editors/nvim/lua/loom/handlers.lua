-- Handlers for the Loom client only (they wrap, not replace, Neovim's):
-- progress echoed in the command line and remembered for :LoomCancel,
-- Loom's answers (Explain) opened from window/showDocument, and edits
-- marked for review shown as a diff to accept or reject first.
local review = require('loom.review')
local ui = require('loom.ui')

local M = {}

-- Runs in progress: active[client_id][token] = title. The server cancels
-- a run on window/workDoneProgress/cancel with its token.
M.active = {}

local function echo(text)
  -- Longer than the command line, an echo would stop at a hit-enter prompt.
  local room = math.max(20, (vim.v.echospace or vim.o.columns - 12) - 1)
  vim.api.nvim_echo({ { ui.clip(text, room) } }, false, {})
end

local function progress(opts)
  local default = vim.lsp.handlers['$/progress']
  return function(err, result, ctx, cfg)
    local v = result and result.value
    if type(v) == 'table' and v.kind then
      local runs = M.active[ctx.client_id] or {}
      M.active[ctx.client_id] = runs
      if v.kind == 'begin' then
        runs[result.token] = v.title or 'Loom'
      end
      local title = runs[result.token] or 'Loom'
      if v.kind == 'end' then
        runs[result.token] = nil
      end
      if opts.progress and v.message then
        echo(title .. ' — ' .. v.message)
      end
    end
    if default then
      return default(err, result, ctx, cfg)
    end
  end
end

-- show_document opens loom: URIs (answers held by the server) in a
-- scratch buffer; other URIs go to Neovim's handler where there is one
-- (0.8+), else they are opened with :edit.
local function show_document()
  local default = vim.lsp.handlers['window/showDocument']
  return function(err, params, ctx, cfg)
    local uri = params and params.uri or ''
    if uri:match('^loom:') then
      local client = vim.lsp.get_client_by_id(ctx.client_id)
      if not client then
        return { success = false }
      end
      -- Answer now and fetch the text after: a handler must not block
      -- the loop waiting for another reply from the same server.
      require('loom.client').request(client, 'workspace/textDocumentContent', { uri = uri }, function(e, res)
        if e or not res then
          ui.error('cannot read ' .. uri .. ': ' .. (e and e.message or 'no text'))
          return
        end
        -- Named loom://…: Neovim keeps a name with :// as it is, but
        -- would expand loom:/answers/1.md as a relative file name.
        ui.scratch('loom://' .. (uri:gsub('^loom:/*', '')), res.text, 'markdown')
      end)
      return { success = true }
    end
    if default then
      return default(err, params, ctx, cfg)
    end
    if not uri:match('^file:') then
      return { success = false }
    end
    vim.cmd('edit ' .. vim.fn.fnameescape(vim.uri_to_fname(uri)))
    return { success = true }
  end
end

-- apply_edit asks before an edit marked for review (review.lua) goes to
-- Neovim's handler; a rejected edit changes nothing and tells the server.
local function apply_edit(opts)
  local default = vim.lsp.handlers['workspace/applyEdit']
  return function(err, params, ctx, cfg)
    if opts.review and params and params.edit and review.needs_review(params.edit) then
      local client = vim.lsp.get_client_by_id(ctx.client_id)
      if not review.ask(params.edit, client and client.offset_encoding or 'utf-16', params.label) then
        return { applied = false, failureReason = 'rejected in review' }
      end
    end
    return default(err, params, ctx, cfg)
  end
end

function M.for_client(opts)
  return {
    ['$/progress'] = progress(opts),
    ['window/showDocument'] = show_document(),
    ['workspace/applyEdit'] = apply_edit(opts),
  }
end

return M
