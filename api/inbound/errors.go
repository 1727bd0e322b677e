package inbound

import "errors"

// Reasons a request is turned away. They are logged and never carry a
// secret or a payload.
var (
	errMissingSignature = errors.New("missing signature")
	errBadSignature     = errors.New("signature does not match")
	errStaleTimestamp   = errors.New("timestamp outside the allowed window")
	errBadCredential    = errors.New("missing or wrong credential")
)

// ErrNoPublisher is returned by [New] when no [Publisher] is given.
var ErrNoPublisher = errors.New("inbound: a publisher is required")

// ErrNoSeen is returned by [New] when GitHub or Slack is configured without
// a [Seen] to deduplicate deliveries.
var ErrNoSeen = errors.New("inbound: a seen store is required for github and slack")
