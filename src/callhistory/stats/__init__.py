"""Agent and queue statistics over a window, by hour, day or week of the tenant's zone."""
