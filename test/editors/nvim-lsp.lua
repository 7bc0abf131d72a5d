-- Headless Neovim (0.7+) as a real LSP client of `ukl-trim lsp`: open a Kconfig file of the tree
-- and the example's .config, wait for the server's diagnostics, write them out as JSON, quit.
local env = vim.env
local root, app, out = env.UKL_NVIM_TREE, env.UKL_NVIM_APP, env.UKL_NVIM_OUT
local client_id = vim.lsp.start_client({
  name = 'ukl-trim',
  cmd = { env.UKL_NVIM_NODE, env.UKL_NVIM_CLI, 'lsp', '--stdio' },
  root_dir = root,
  workspace_folders = {
    { uri = vim.uri_from_fname(root), name = 'kernel' },
    { uri = vim.uri_from_fname(app), name = 'app' },
  },
})
local result = { client = client_id ~= nil, files = {} }
for _, file in ipairs({ env.UKL_NVIM_KCONFIG, env.UKL_NVIM_CONFIG }) do
  vim.cmd('edit ' .. vim.fn.fnameescape(file))
  local buf = vim.api.nvim_get_current_buf()
  vim.lsp.buf_attach_client(buf, client_id)
  local ok = vim.wait(240000, function()
    return #vim.diagnostic.get(buf) > 0
  end, 200)
  local diags = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(diags, { lnum = d.lnum, severity = d.severity, message = d.message })
  end
  table.insert(result.files, { file = file, ok = ok, diagnostics = diags })
end
local f = io.open(out, 'w')
f:write(vim.fn.json_encode(result))
f:close()
vim.lsp.stop_client(client_id)
vim.cmd('qa!')
