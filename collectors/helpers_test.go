package collectors

import (
	"errors"
	"strings"
	"sync"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func asError[T error](err error, target *T) bool { return errors.As(err, target) }

// unlockAgain undoes a successful TryLock and reports false ("not held").
func unlockAgain(m *sync.Mutex) bool { m.Unlock(); return false }
