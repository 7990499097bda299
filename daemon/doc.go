// Package daemon holds what runs on an edge node, one subpackage per
// concern: edge (the HTTP request path), origin (fetching from origins),
// admin (health, status, metrics) and node (listeners and the live table).
// The daemon reads compiled tables only, never CUE.
package daemon
