package clinic

import "hearth/app/audit"

func auditFilterAction(a string) audit.Filter { return audit.Filter{Action: a} }
