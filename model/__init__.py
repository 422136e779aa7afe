"""Train, quantize and export small CNNs for the streaming RTL engine."""
