"""The runtime: ``lookout up`` runs the generated stack as supervised child processes (:mod:`.stack`,
:mod:`.children`); the notification sink (:mod:`.sink`) and the demo traffic (:mod:`.traffic`) run on their own.
Nothing is imported here, so ``lookout sink`` does not load the generators."""
