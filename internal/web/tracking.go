package web

import "context"

// TrackingResolver finds the order behind a carrier's tracking number.
type TrackingResolver interface {
	OrderForTracking(ctx context.Context, trackingNumber string) (orderID, shipmentID string, ok bool, err error)
}
