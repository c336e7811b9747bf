package tlsauto

import (
	"context"
	"log/slog"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newZapLogger passes certmagic's warnings and errors (it logs through
// zap) on to Hearth's log; its chatter below Warn is dropped.
func newZapLogger(log *slog.Logger) *zap.Logger {
	return zap.New(&zapToSlog{log: log})
}

type zapToSlog struct {
	log    *slog.Logger
	fields []zapcore.Field
}

func (z *zapToSlog) Enabled(l zapcore.Level) bool { return l >= zapcore.WarnLevel }

func (z *zapToSlog) With(fields []zapcore.Field) zapcore.Core {
	return &zapToSlog{log: z.log, fields: append(append([]zapcore.Field(nil), z.fields...), fields...)}
}

func (z *zapToSlog) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if z.Enabled(e.Level) {
		return ce.AddCore(e, z)
	}
	return ce
}

func (z *zapToSlog) Write(e zapcore.Entry, fields []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range append(append([]zapcore.Field(nil), z.fields...), fields...) {
		f.AddTo(enc)
	}
	args := make([]any, 0, 2*len(enc.Fields))
	for k, v := range enc.Fields {
		args = append(args, k, v)
	}
	level := slog.LevelWarn
	if e.Level >= zapcore.ErrorLevel {
		level = slog.LevelError
	}
	z.log.Log(context.Background(), level, "certmagic: "+e.Message, args...)
	return nil
}

func (z *zapToSlog) Sync() error { return nil }
