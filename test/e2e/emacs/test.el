;;; test.el --- Loom's code actions in Emacs through Eglot  -*- lexical-binding: t -*-
;;
;; Run by run.sh as `emacs --batch -l test.el' (Debian's Emacs 28 with its
;; elpa-eglot 1.9) in a project holding calc.py, with `loom' on PATH and
;; the scripted model in LOOM_MODEL/LOOM_BASE_URL. It evaluates the Eglot
;; configuration from editors/emacs/README.md (LOOM_README: the elisp
;; block after the marker comment), opens calc.py, starts the server with
;; `eglot-ensure', asks for the code actions on the buggy line, executes
;; "Loom: Fix" and checks the buffer:
;; fixed and unsaved. Eglot asks before applying the server's edit
;; ("Proceed?"): run.sh answers y on stdin. Exits non-zero on any failure.

(require 'cl-lib)

(defvar loom-test-readme (getenv "LOOM_README"))
(defvar loom-test-marker "<!-- test/e2e/emacs/test.el evaluates the elisp block below")

(defun loom-test-fail (fmt &rest args)
  (message "emacs e2e: FAIL: %s" (apply #'format fmt args))
  (kill-emacs 1))

(defun loom-test-readme-config ()
  "The README's Eglot configuration: the elisp block after the marker."
  (with-temp-buffer
    (insert-file-contents loom-test-readme)
    (unless (search-forward loom-test-marker nil t)
      (loom-test-fail "no marker %S in %s" loom-test-marker loom-test-readme))
    (unless (re-search-forward "^```elisp\n\\(\\(?:.\\|\n\\)*?\\)\n```$" nil t)
      (loom-test-fail "no elisp block after the marker in %s" loom-test-readme))
    (match-string 1)))

(condition-case err
    (progn
      (let ((config (loom-test-readme-config)))
        (with-temp-buffer
          (insert config)
          (eval-buffer nil nil nil nil t)))
      (require 'eglot)
      (unless (assoc-default 'python-mode eglot-server-programs
                             (lambda (modes mode) (memq mode (ensure-list modes))))
        (loom-test-fail "the README's configuration gives python-mode no server"))
      (find-file "calc.py")
      (unless (eq major-mode 'python-mode)
        (loom-test-fail "calc.py opened in %s" major-mode))
      ;; eglot-ensure connects after the current command, as in a mode hook.
      (eglot-ensure)
      (run-hooks 'post-command-hook)
      (let ((server (eglot-current-server)))
        (unless server (loom-test-fail "eglot-ensure started no server"))
        (unless (equal (plist-get (eglot--server-info server) :name) "loom")
          (loom-test-fail "the server is %S, not loom" (eglot--server-info server))))
      (goto-char (point-min))
      (forward-line 3)                  ; line 4: the loop that skips xs[0]
      (let* ((actions (eglot-code-actions (line-beginning-position) (line-end-position)))
             (titles (mapcar (lambda (a) (plist-get a :title)) actions))
             (fix (cl-find "Loom: Fix" actions :key (lambda (a) (plist-get a :title)) :test #'equal)))
        (message "emacs e2e: code actions: %S" titles)
        (unless fix (loom-test-fail "no \"Loom: Fix\" among %S" titles))
        ;; What choosing it from the menu does (eglot--read-execute-code-action).
        (let ((cmd (or (plist-get fix :command) fix)))
          (eglot-execute-command (eglot-current-server)
                                 (intern (plist-get cmd :command))
                                 (plist-get cmd :arguments))))
      (let ((want "def total(xs):\n    s = 0\n    # add every number\n    for i in range(0, len(xs)):\n        s += xs[i]\n    return s\n"))
        (unless (equal (buffer-string) want)
          (loom-test-fail "the buffer is\n%s\nwant\n%s" (buffer-string) want)))
      (unless (buffer-modified-p)
        (loom-test-fail "the fixed buffer is not marked modified"))
      (with-temp-buffer
        (insert-file-contents "calc.py")
        (when (string-match-p "range(0" (buffer-string))
          (loom-test-fail "the disk changed before the buffer was saved")))
      (save-buffer)
      (eglot-shutdown (eglot-current-server))
      (message "emacs e2e: ok (README config → eglot-ensure → code actions → Loom: Fix → buffer fixed, unsaved → saved)")
      (kill-emacs 0))
  (error (loom-test-fail "%s" (error-message-string err))))
