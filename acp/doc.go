// Package acp serves Loom's agent over the Agent Client Protocol (ACP), the
// JSON-RPC protocol editors such as Zed, JetBrains IDEs, codecompanion.nvim
// and avante.nvim use to drive coding agents over stdio.
//
// It only translates, and reaches the agent and the threads only through
// package session. An ACP session is a workspace rooted at the client's
// cwd and a session.Conversation: with a thread store, a thread (the
// session ID is the thread ID, which is what session/load takes), else in
// memory. A prompt becomes a session.Request; the run's events become
// session/update notifications
// (message chunks, tool calls with kinds, locations, statuses, and diff
// content for staged edits); its stop reason becomes the prompt's
// stopReason.
//
// Edits follow Loom's rule that nothing is written without consent: each
// edit tool call stages its edit in a changeset of its own, the diff is
// reported, and session/request_permission asks the user; an accepted edit
// is written through the client's fs/write_text_file when it offers one (so
// it lands in the editor's buffer) and by Changeset.Apply otherwise. A
// rejected edit is dropped and the model is told. When the client offers
// fs/read_text_file, files a tool names are read through it first and put
// into the workspace overlay, so the agent sees unsaved buffers.
//
// Commands run in the client's terminal (terminal/*) when it offers one,
// else through Loom's own shell tool when the server allows it; either way
// after a permission request.
//
// The agent has no plan of its own, so no plan updates are sent.
package acp
