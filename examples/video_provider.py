"""A minimal Parley video-conference provider (the extension API in the README).

Run:  PARLEY_VIDEO_SECRET=pvs_... flask --app examples/video_provider.py run --port 8001
then register http(s)://<host>/create, /update, /delete and /verify in Parley under
Settings, Video apps. Every request is signed: X-Parley-Signature = "sha256=" + the hex
HMAC-SHA256 of the raw body with the app's signing secret.
"""

import hashlib
import hmac
import os
import secrets
import time

from flask import Flask, abort, jsonify, request


def create_app(secret=None, base_url="https://video.example.com", users=None):
    app = Flask(__name__)
    secret = (secret or os.environ["PARLEY_VIDEO_SECRET"]).encode()

    def verified_json():
        sent = request.headers.get("X-Parley-Signature", "")
        good = "sha256=" + hmac.new(secret, request.get_data(), hashlib.sha256).hexdigest()
        stamp = request.headers.get("X-Parley-Timestamp", "0")
        if not hmac.compare_digest(sent, good) or not stamp.isdigit() or \
                abs(time.time() - int(stamp)) > 300:
            abort(401)  # not from Parley (or replayed later)
        return request.get_json()

    @app.post("/create")
    def create():
        meeting = verified_json()
        room = secrets.token_urlsafe(12)
        return jsonify(conferenceId=room, conferenceUrl=f"{base_url}/{room}",
                       conferenceDetails=f"Topic: {meeting['topic']}")

    @app.post("/update")
    def update():
        meeting = verified_json()  # same room; a real provider would move its meeting
        return jsonify(conferenceId=meeting["conferenceId"],
                       conferenceUrl=f"{base_url}/{meeting['conferenceId']}",
                       conferenceDetails=f"Topic: {meeting['topic']}")

    @app.post("/delete")
    def delete():
        verified_json()
        return "", 204

    @app.post("/verify")
    def verify():
        email = verified_json()["userEmail"]
        return jsonify(verified=users is None or email in users, email=email)

    return app
