-- A stock change for a SKU (inventory.changed without an order) is fanned
-- out to the recent orders that hold that SKU.
CREATE INDEX events_order_lines ON events USING gin ((data->'lines') jsonb_path_ops)
    WHERE type = 'order.created';
