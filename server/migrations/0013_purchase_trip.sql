-- The daily facts look sales up by their trip.
CREATE INDEX purchase_trip ON purchase (trip_id) WHERE trip_id IS NOT NULL;
