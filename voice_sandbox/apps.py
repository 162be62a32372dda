from django.apps import AppConfig


class VoiceSandboxConfig(AppConfig):
    # The Voice API emulator. It imports nothing from the contact-center apps and talks to
    # them only over HTTP and WebSocket, as Vonage does.
    name = "voice_sandbox"
    verbose_name = "Voice API sandbox"
