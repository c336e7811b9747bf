//go:build !linux

package sms

import (
	"errors"
	"os"
)

// openPort: a USB modem is supported on Linux only (the appliance's system).
func openPort(string) (*os.File, error) {
	return nil, errors.New("sms: a USB modem needs Linux")
}
