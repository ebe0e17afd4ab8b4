// Package recovery holds the domain of the service-recovery engine: the
// canonical events integrations push, orders and shipments as the engine sees
// them, incidents, offers, contacts and money. It performs no I/O and imports
// only the standard library, so every other package can depend on it.
package recovery
