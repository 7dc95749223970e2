"""What each synced change means here: vendor-neutral flows the connectors call."""
