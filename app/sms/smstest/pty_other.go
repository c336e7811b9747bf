//go:build !linux

package smstest

import (
	"errors"
	"os"
)

func openPTY() (master, slave *os.File, path string, err error) {
	return nil, nil, "", errors.New("smstest: the simulated modem needs Linux pseudo-terminals")
}
