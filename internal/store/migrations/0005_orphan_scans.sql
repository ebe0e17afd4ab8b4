-- Carrier scans that arrived before the shipment that names their tracking
-- number wait here until it comes (see Claim.Done).
CREATE INDEX events_orphans ON events ((data->>'tracking_number'))
    WHERE order_id = '' AND type = 'shipment.tracking';
