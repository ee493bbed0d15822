"""Layer 2: value for money: net monetary benefit, CEAC, EVPI and EVSI."""
