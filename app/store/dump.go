package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// A dump is a backend-neutral stream of Entries: a magic line, then each
// entry as kind, name, key and value (each length-prefixed with a uvarint),
// then a zero kind and the number of entries, so a cut stream is an error,
// never a partial database. PostgreSQL backups are dumps; age seals them
// like any other backup.
//
// DumpMagic is how a dump begins.
const DumpMagic = "HEARTH-STORE-DUMP 1\n"

// ErrDumpDamaged means a dump stream is cut short or malformed.
var ErrDumpDamaged = errors.New("store: the dump is damaged or incomplete")

// WriteDump writes every entry of src to w and returns the bytes written.
func WriteDump(ctx context.Context, w io.Writer, src Copier) (int64, error) {
	cw := &countWriter{w: bufio.NewWriterSize(w, 256<<10)}
	if _, err := io.WriteString(cw, DumpMagic); err != nil {
		return cw.n, err
	}
	var n uint64
	var buf []byte
	err := src.Export(ctx, func(e Entry) error {
		buf = append(buf[:0], byte(e.Kind))
		for _, part := range [][]byte{[]byte(e.Name), e.Key, e.Value} {
			buf = binary.AppendUvarint(buf, uint64(len(part)))
			buf = append(buf, part...)
		}
		n++
		_, err := cw.Write(buf)
		return err
	})
	if err != nil {
		return cw.n, err
	}
	buf = binary.AppendUvarint(append(buf[:0], 0), n)
	if _, err := cw.Write(buf); err != nil {
		return cw.n, err
	}
	return cw.n, cw.w.(*bufio.Writer).Flush()
}

// ReadDump reads a dump from r and hands its entries to fn in batches of
// at most batch entries. It fails with ErrDumpDamaged (wrapped) if the
// stream is malformed or ends before its final count.
func ReadDump(r io.Reader, batch int, fn func([]Entry) error) (int, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	magic := make([]byte, len(DumpMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != DumpMagic {
		return 0, fmt.Errorf("%w: not a Hearth store dump", ErrDumpDamaged)
	}
	var pending []Entry
	total := 0
	for {
		kind, err := br.ReadByte()
		if err != nil {
			return total, fmt.Errorf("%w: %v", ErrDumpDamaged, err)
		}
		if kind == 0 {
			want, err := binary.ReadUvarint(br)
			if err != nil || want != uint64(total+len(pending)) {
				return total, fmt.Errorf("%w: entry count does not match", ErrDumpDamaged)
			}
			if len(pending) > 0 {
				if err := fn(pending); err != nil {
					return total, err
				}
				total += len(pending)
			}
			return total, nil
		}
		if kind > byte(KindSeq) {
			return total, fmt.Errorf("%w: unknown entry kind %d", ErrDumpDamaged, kind)
		}
		var parts [3][]byte
		for i := range parts {
			l, err := binary.ReadUvarint(br)
			if err != nil || l > 1<<30 {
				return total, fmt.Errorf("%w: bad length", ErrDumpDamaged)
			}
			// Read what is there rather than allocate what the length
			// claims: a cut or forged stream claiming a gigabyte costs
			// only the bytes it really holds.
			var part bytes.Buffer
			if n, err := io.CopyN(&part, br, int64(l)); err != nil || n != int64(l) {
				return total, fmt.Errorf("%w: %v", ErrDumpDamaged, io.ErrUnexpectedEOF)
			}
			parts[i] = part.Bytes()
		}
		e := Entry{Kind: EntryKind(kind), Name: string(parts[0]), Key: parts[1], Value: parts[2]}
		if e.Kind == KindSeq {
			e.Key = nil
		}
		pending = append(pending, e)
		if len(pending) >= batch {
			if err := fn(pending); err != nil {
				return total, err
			}
			total += len(pending)
			pending = nil
		}
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
