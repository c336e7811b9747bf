module hearth

go 1.26.0

require (
	github.com/google/uuid v1.6.0
	github.com/gorilla/websocket v1.5.3
	golang.org/x/crypto v0.59.0
	golang.org/x/text v0.44.0
	rsc.io/qr v0.2.0
)

require (
	filippo.io/age v1.3.2
	filippo.io/hpke v0.4.0 // indirect
	go.etcd.io/bbolt v1.5.0
	golang.org/x/sys v0.50.0 // indirect
)
