"""llm-settings: set up the LLM backend of OpenHands."""
