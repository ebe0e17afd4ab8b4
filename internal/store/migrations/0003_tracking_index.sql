-- Carrier webhooks name a tracking number, not our order: find the order
-- through the shipment.created event that carried that number.
CREATE INDEX events_tracking ON events ((data->>'tracking_number'), seq)
    WHERE type = 'shipment.created' AND data ? 'tracking_number';
