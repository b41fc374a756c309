// Package tui is the REPL on a terminal, on Bubble Tea: a multi-line input
// (a paste is one instruction; Enter sends, Alt+Enter, Shift+Enter or
// Ctrl+J insert a newline; Up and Down recall what was sent), answers
// streamed as they come and rendered as markdown once complete, coloured
// diffs, a spinner until the first token, the approver's questions
// answered with y/n/a keys, and a status line with the model and the
// tokens spent. It runs inline: what is finished is printed above the
// input into the terminal's own scrollback. Text from outside (the
// model's, a tool's, a file's in a diff) is printed without its escape
// sequences.
//
// The session itself is a Conversation, shared with the plain line mode
// that `loom repl` keeps when stdin is not a terminal.
package tui

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/session"
)

// Options are what the model shows besides the conversation.
type Options struct {
	// Provider names where the model is served, in the status line.
	Provider string
	// ContextWindow is the model's context in tokens, for the share the
	// status line shows (0: agent.DefaultContextWindow).
	ContextWindow int
	// AskHere replaces the conversation's approver with questions in the
	// TUI (the terminal prompt of --shell=ask cannot read a raw terminal).
	AskHere bool
}

// maxInput bounds an instruction typed or pasted, in characters.
const maxInput = 200_000

// Model is the REPL's Bubble Tea model.
type Model struct {
	conv  *Conversation
	opts  Options
	ctx   context.Context // the program's life: ends the run and the questions with it
	leave context.CancelFunc

	input textarea.Model
	spin  spinner.Model
	width int

	// inbox carries what the run's goroutine reports (events, questions,
	// its end) in order; one listen command at a time reads it.
	inbox chan tea.Msg

	running  bool
	cancel   context.CancelFunc // stops the running reply
	waiting  bool               // no token yet: the spinner turns
	stream   strings.Builder    // the answer streaming in, not yet printed
	question *questionMsg
	progress string // how far the running tool call has got

	// history holds the instructions and commands sent, oldest first;
	// recalled is the one Up brought back (len(history): none).
	history  []string
	recalled int

	tokensIn, tokensOut int
	usage               llm.Usage // the session's, for its cost
	contextUsed         int       // the prompt tokens of the last model call
	staged              int       // files with staged edits, read between runs

	// queued: Enter was pressed during a reply; the input is sent when it
	// ends.
	queued bool
	// interrupted: the last key was Ctrl-C; a second one in a row quits.
	interrupted bool
	// completions are what Tab offered for the word being typed; files
	// the workspace's, read at the first @ completion after a run.
	completions []string
	files       []string
	// picker is the /resume list of threads while it is open.
	picker *picker
	// review is /apply review in progress: the part shown is reviewAt.
	review   *Review
	reviewAt int

	// outbox holds lines to print above the view. One Println is in
	// flight at a time, so that lines keep their order.
	outbox   []string
	printing bool
	quitting bool
	// profile is the terminal's colours (none under NO_COLOR): what is
	// printed above the view is brought down to it, as the view is.
	profile colorprofile.Profile
}

// The messages the model sends itself.
type (
	eventMsg   struct{ ev session.Event }
	runDoneMsg struct{ out string }
	printedMsg struct{}
	// editedMsg: the $EDITOR opened by Ctrl-G exited.
	editedMsg struct {
		path string
		err  error
	}
)

// New returns the model of a REPL over conv.
func New(conv *Conversation, opts Options) *Model {
	ctx, leave := context.WithCancel(context.Background())
	in := textarea.New()
	in.Placeholder = "Ask Loom… (Enter sends, Alt+Enter adds a line, /help)"
	in.ShowLineNumbers = false
	in.Prompt = "› "
	in.CharLimit = maxInput
	in.DynamicHeight = true
	in.MinHeight = 1
	in.MaxHeight = 10
	// Enter sends; the model inserts newlines itself.
	in.KeyMap.InsertNewline.SetEnabled(false)
	in.Focus()
	m := &Model{conv: conv, opts: opts, ctx: ctx, leave: leave, input: in,
		spin: spinner.New(spinner.WithSpinner(spinner.Dot)), inbox: make(chan tea.Msg, 64), width: 80}
	if opts.AskHere {
		conv.Approver = &approver{inbox: m.inbox, done: ctx.Done(), always: map[string]bool{}}
	}
	return m
}

// Init starts listening to the run's reports.
func (m *Model) Init() tea.Cmd {
	m.outbox = append(m.outbox, fmt.Sprintf("Loom in %s. Edits are staged until /apply. /help lists commands.", m.conv.Root()))
	return m.next(m.listen())
}

// listen reads the next report of a run.
func (m *Model) listen() tea.Cmd {
	return func() tea.Msg {
		select {
		case msg := <-m.inbox:
			return msg
		case <-m.ctx.Done():
			return nil
		}
	}
}

// Update handles keys, pastes and the run's reports.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmds []tea.Cmd
	switch msg := msg.(type) {
	case tea.ColorProfileMsg:
		m.profile = msg.Profile
	case tea.WindowSizeMsg:
		m.width = msg.Width
		m.input.SetWidth(msg.Width)
		if m.picker != nil {
			m.picker.list.SetWidth(msg.Width)
		}
	case tea.KeyPressMsg:
		if m.picker != nil {
			cmds = append(cmds, m.pick(msg))
			break
		}
		cmds = append(cmds, m.key(msg))
	case editedMsg:
		m.edited(msg)
	case tea.PasteMsg:
		if m.question == nil && m.review == nil && m.picker == nil {
			var cmd tea.Cmd
			m.input, cmd = m.input.Update(msg)
			cmds = append(cmds, cmd)
		}
	case eventMsg:
		m.event(msg.ev)
		cmds = append(cmds, m.listen())
	case questionMsg:
		m.flushStream()
		m.question = &msg
		cmds = append(cmds, m.listen())
	case runDoneMsg:
		m.flushStream()
		if out := strings.TrimRight(plain(msg.out), "\n"); out != "" {
			m.print(dimStyle.Render(out))
		}
		m.running, m.waiting, m.question, m.progress = false, false, nil, ""
		m.cancel()
		m.staged, m.files = m.conv.Staged(), nil
		cmds = append(cmds, m.listen())
		if m.queued {
			m.queued = false
			cmds = append(cmds, m.submit())
		}
	case printedMsg:
		m.printing = false
	case filterStep:
		if m.picker != nil {
			cmds = append(cmds, m.picker.step(msg))
		}
	case spinner.TickMsg:
		if m.waiting {
			var cmd tea.Cmd
			m.spin, cmd = m.spin.Update(msg)
			cmds = append(cmds, cmd)
		}
	default:
		var cmd tea.Cmd
		if m.picker != nil { // the list's own messages: its filter's matches
			m.picker.list, cmd = m.picker.list.Update(msg)
		} else {
			m.input, cmd = m.input.Update(msg)
		}
		cmds = append(cmds, cmd)
	}
	return m, m.next(cmds...)
}

// key handles one key press.
func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	again := m.interrupted
	m.interrupted = k.String() == "ctrl+c"
	if m.interrupted && again {
		m.quit() // Ctrl-C twice in a row leaves, a reply running or not
		return nil
	}
	if k.String() != "tab" {
		m.completions = nil
	}
	if m.question != nil {
		return m.answer(k)
	}
	if m.review != nil {
		return m.reviewKey(k)
	}
	switch k.String() {
	case "ctrl+c":
		switch {
		case m.running:
			m.cancel()
			m.queued = false
		case m.input.Value() != "":
			m.input.Reset()
		default:
			m.print(dimStyle.Render("(Ctrl-C again leaves)"))
		}
		return nil
	case "tab":
		if !m.running {
			m.complete()
		}
		return nil
	case "ctrl+g":
		if !m.running {
			return m.edit()
		}
		return nil
	case "ctrl+d":
		if !m.running && m.input.Value() == "" {
			m.quit()
		}
		return nil
	case "enter":
		if m.running {
			// Sent when the reply ends; typing on changes what is sent.
			m.queued = strings.TrimSpace(m.input.Value()) != ""
			return nil
		}
		return m.submit()
	case "up":
		if m.input.Line() == 0 && m.recalled > 0 {
			m.recall(m.recalled - 1)
			return nil
		}
	case "down":
		if m.input.Line() == m.input.LineCount()-1 && m.recalled < len(m.history) {
			m.recall(m.recalled + 1)
			return nil
		}
	case "alt+enter", "shift+enter", "ctrl+j":
		m.input.InsertString("\n")
		return nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(k)
	return cmd
}

// answer takes y, n or a for the question shown; Ctrl-C stops the run.
func (m *Model) answer(k tea.KeyPressMsg) tea.Cmd {
	words := map[string]string{"y": "yes", "n": "no", "a": "always"}
	switch s := k.String(); s {
	case "ctrl+c":
		m.cancel()
	case "y", "n", "a":
		r, _ := utf8.DecodeRuneInString(s)
		m.question.answer <- r
		m.print(m.question.text + promptStyle.Render(words[s]))
		m.question = nil
	}
	return nil
}

// submit sends the input: a slash command, or one instruction however
// many lines it has.
func (m *Model) submit() tea.Cmd {
	text := strings.TrimSpace(m.input.Value())
	if text == "" {
		return nil
	}
	m.input.Reset()
	m.remember(text)
	m.print(promptStyle.Render("› ") + strings.ReplaceAll(plain(text), "\n", "\n  "))
	if IsShell(text) {
		return m.start(func(ctx context.Context, out *bytes.Buffer) { m.conv.Shell(ctx, text, out) })
	}
	switch fields := strings.Fields(text); {
	case fields[0] == "/compact":
		return m.start(func(ctx context.Context, out *bytes.Buffer) {
			m.conv.Compact(ctx, func(ev session.Event) { m.send(eventMsg{ev}) }, out)
		})
	case fields[0] == "/resume" && len(fields) == 1:
		m.openPicker()
		return nil
	case fields[0] == "/apply" && len(fields) > 1 && fields[1] == "review":
		m.startReview()
		return nil
	}
	if IsCommand(text) {
		return m.runCommand(text)
	}
	added, errs := m.conv.Mentions(text)
	for _, err := range errs {
		m.print(errorStyle.Render("not in focus: " + oneLine(err.Error(), 200)))
	}
	if len(added) > 0 {
		m.print(dimStyle.Render("in focus: " + plain(strings.Join(added, ", "))))
	}
	return m.start(func(ctx context.Context, out *bytes.Buffer) {
		m.conv.Ask(ctx, text, func(ev session.Event) { m.send(eventMsg{ev}) }, out)
	})
}

// start runs work off the program's goroutine, as a reply: the spinner
// turns, Ctrl-C cancels its context, its output is printed at its end.
func (m *Model) start(work func(ctx context.Context, out *bytes.Buffer)) tea.Cmd {
	ctx, cancel := context.WithCancel(m.ctx)
	m.running, m.waiting, m.cancel = true, true, cancel
	m.stream.Reset()
	run := func() tea.Msg {
		var out bytes.Buffer
		work(ctx, &out)
		m.send(runDoneMsg{out.String()})
		return nil
	}
	return tea.Batch(run, m.spin.Tick)
}

// runCommand runs a slash command and prints what it says.
func (m *Model) runCommand(text string) tea.Cmd {
	var out bytes.Buffer
	quit := m.conv.Command(text, &out)
	if s := strings.TrimRight(plain(out.String()), "\n"); s != "" {
		if strings.Fields(text)[0] == "/diff" {
			s = colourDiff(s)
		}
		m.print(s)
	}
	m.staged, m.files = m.conv.Staged(), nil
	if quit {
		m.quit()
	}
	return nil
}

// startReview begins /apply review with the first part.
func (m *Model) startReview() {
	r, err := m.conv.Review()
	switch {
	case err != nil:
		m.print(errorStyle.Render("Error: " + err.Error()))
		return
	case r == nil:
		m.print("No staged edits.")
		return
	}
	m.review, m.reviewAt = r, 0
	m.showPart()
}

// showPart prints the part under review above the question.
func (m *Model) showPart() {
	p := m.review.Parts[m.reviewAt]
	m.print(colourDiff(strings.TrimRight(plain(p.Diff), "\n")))
}

func (m *Model) reviewQuestion() string {
	r := m.review
	return fmt.Sprintf("apply this part of %s (%d/%d)? [y]es / [n]o / [a]ll the rest / [q]uit, skipping the rest ",
		plain(r.Parts[m.reviewAt].File), m.reviewAt+1, len(r.Parts))
}

// reviewKey takes the answer for the part shown; after the last part, or
// a or q, the accepted parts are applied.
func (m *Model) reviewKey(k tea.KeyPressMsg) tea.Cmd {
	r := m.review
	words := map[string]string{"y": "yes", "n": "no", "a": "all", "q": "quit"}
	s := k.String()
	if s == "ctrl+c" || s == "esc" {
		m.review = nil
		m.print("Review stopped; nothing applied.")
		return nil
	}
	if _, ok := words[s]; !ok {
		return nil
	}
	m.print(m.reviewQuestion() + promptStyle.Render(words[s]))
	switch s {
	case "y":
		r.Accept[m.reviewAt] = true
	case "a":
		for i := m.reviewAt; i < len(r.Accept); i++ {
			r.Accept[i] = true
		}
	}
	m.reviewAt++
	if s == "y" || s == "n" {
		if m.reviewAt < len(r.Parts) {
			m.showPart()
			return nil
		}
	}
	m.review = nil
	var out bytes.Buffer
	m.conv.ApplyReview(r, &out)
	m.print(strings.TrimRight(plain(out.String()), "\n"))
	m.staged, m.files = m.conv.Staged(), nil
	return nil
}

// maxHistory bounds the instructions Up can bring back.
const maxHistory = 1000

// remember adds what was sent to the history, once if sent twice in a
// row.
func (m *Model) remember(text string) {
	if n := len(m.history); n == 0 || m.history[n-1] != text {
		m.history = append(m.history, text)
		if len(m.history) > maxHistory {
			m.history = m.history[len(m.history)-maxHistory:]
		}
	}
	m.recalled = len(m.history)
}

// recall puts the i-th sent instruction in the input (past the last: an
// empty input).
func (m *Model) recall(i int) {
	m.recalled = i
	if i == len(m.history) {
		m.input.Reset()
		return
	}
	m.input.SetValue(m.history[i])
}

// send hands a report to the model, in order, unless the program ended.
func (m *Model) send(msg tea.Msg) {
	select {
	case m.inbox <- msg:
	case <-m.ctx.Done():
	}
}

// event shows one event of the run.
func (m *Model) event(ev session.Event) {
	switch e := ev.(type) {
	case session.TextDelta:
		m.waiting = false
		m.stream.WriteString(plain(e.Text))
	case session.ToolStarted:
		m.waiting = false
		m.flushStream()
		m.print(dimStyle.Render("▸ " + plain(e.Name) + " " + oneLine(e.Args, 100)))
	case session.ToolProgress:
		m.progress = oneLine(e.Name+" "+progressText(e), 200)
	case session.ToolFinished:
		m.progress = ""
		mark := okStyle.Render("✓")
		if e.Err != nil {
			mark = errorStyle.Render("✗ " + oneLine(e.Err.Error(), 200))
		}
		changed := ""
		if len(e.Changed) > 0 {
			changed = " staged " + strings.Join(e.Changed, ", ")
		}
		m.print(fmt.Sprintf("%s %s%s", mark, plain(e.Name), plain(changed)))
	case session.Retrying:
		// What streamed belonged to the answer that broke off.
		m.stream.Reset()
		m.print(dimStyle.Render(e.Message()))
	case session.TurnFinished:
		m.tokensIn += e.Usage.PromptTokens
		m.tokensOut += e.Usage.CompletionTokens
		m.usage = m.usage.Add(e.Usage)
		m.contextUsed = e.Usage.PromptTokens + e.Usage.CompletionTokens
	}
}

// flushStream prints the streamed answer, rendered as markdown now that
// it is complete.
func (m *Model) flushStream() {
	if text := strings.TrimSpace(m.stream.String()); text != "" {
		m.print(markdown(text, m.width))
	}
	m.stream.Reset()
}

func (m *Model) print(s string) { m.outbox = append(m.outbox, s) }

// quit leaves once what is to be printed is printed; a running reply is
// stopped.
func (m *Model) quit() {
	if n := m.conv.Staged(); n > 0 {
		m.print(fmt.Sprintf("Left %d file(s) of staged edits unapplied.", n))
	}
	m.quitting = true
}

// next adds to cmds the printing of the outbox, one Println at a time,
// and the end of the program once all is printed.
func (m *Model) next(cmds ...tea.Cmd) tea.Cmd {
	switch {
	case m.printing:
	case len(m.outbox) > 0:
		var text strings.Builder
		w := &colorprofile.Writer{Forward: &text, Profile: m.profile}
		w.WriteString(strings.Join(m.outbox, "\n"))
		m.outbox, m.printing = nil, true
		cmds = append(cmds, tea.Sequence(tea.Println(text.String()), func() tea.Msg { return printedMsg{} }))
	case m.quitting:
		m.leave()
		cmds = append(cmds, tea.Quit)
	}
	return tea.Batch(cmds...)
}

// View is the live part below the scrollback: the answer streaming in (its
// last lines), the spinner, a question, the input and the status line.
func (m *Model) View() tea.View {
	if m.quitting && !m.printing && len(m.outbox) == 0 {
		return tea.NewView("")
	}
	var b strings.Builder
	if s := m.stream.String(); s != "" {
		lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
		b.WriteString(strings.Join(lines[max(0, len(lines)-12):], "\n") + "\n")
	}
	if m.waiting {
		b.WriteString(m.spin.View() + " waiting for the model… (Ctrl-C stops)\n")
	}
	if m.queued {
		b.WriteString(dimStyle.Render("(sent when the reply ends)") + "\n")
	}
	if m.progress != "" {
		b.WriteString(dimStyle.Render(m.progress) + "\n")
	}
	switch {
	case m.question != nil:
		b.WriteString(promptStyle.Render(m.question.text) + "\n")
	case m.picker != nil:
		b.WriteString(m.picker.list.View() + "\n")
	case m.review != nil:
		b.WriteString(promptStyle.Render(m.reviewQuestion()) + "\n")
	default:
		b.WriteString(m.input.View() + "\n")
		if len(m.completions) > 0 {
			b.WriteString(dimStyle.Render(oneLine(strings.Join(m.completions, "  "), max(m.width-2, 20))) + "\n")
		}
	}
	b.WriteString(dimStyle.Render(m.status()))
	return tea.NewView(b.String())
}

// progressText says how far a call has got: "3/5 copying", "3", "copying".
func progressText(e session.ToolProgress) string {
	n := strconv.FormatFloat(e.Progress, 'f', -1, 64)
	if e.Total > 0 {
		n += "/" + strconv.FormatFloat(e.Total, 'f', -1, 64)
	}
	return strings.TrimSpace(n + " " + e.Message)
}

// oneLine shortens s to n bytes on one line, safe to print.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(plain(s)), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
