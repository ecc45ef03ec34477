"""Microsoft Entra ID directory adapter (Microsoft Graph)."""
