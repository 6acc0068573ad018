// Package sipsecurity holds the toll-fraud tests of the shipped Asterisk
// configuration (configs/asterisk), run on a real Asterisk by
// internal/realasterisk: operator phones register only with their password
// and only from the operators' network (acl.conf), nobody reaches an
// outside number (operators, callers through the IVR, unidentified
// callers), and the carrier is the carrier only by its address.
package sipsecurity
