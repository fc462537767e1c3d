"""Customer orders: item resolution, pricing, credit and allocation, decided by the rulesets."""
