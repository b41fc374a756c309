//go:build !linux

package beneath

import "os"

// fastDir is Linux's openat2 path; elsewhere every read takes os.Root's.
type fastDir struct{}

func openFast(string) fastDir { return fastDir{} }

func (*fastDir) watch(*Root) {}

func (*fastDir) close() {}

func (*fastDir) readFast(string, int64, []byte) ([]byte, error, bool) { return nil, nil, false }

func (*fastDir) openDirFast(string, string) (*os.File, error, bool) { return nil, nil, false }

func (*fastDir) stamp(string) (Stamp, error, bool) { return Stamp{}, nil, false }
