"""Networks: the trained e3nn network and the tabulated network it is compiled into for inference."""
