"""A small client of Shoal's MQTT API (docs/asyncapi.yaml), on paho-mqtt 2.x.

Requests go to `{prefix}/api/{operation}` with the MQTT v5 Response Topic and
Correlation Data properties; replies come back on this client's own reply topic.
"""
import json
import queue
import threading
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


class Unavailable(Exception):
    """The broker or the dispatcher did not answer in time."""


class ShoalAPI:
    def __init__(self, host, port, prefix="shoal/v1", timeout=10.0):
        self.prefix = prefix.rstrip("/")
        self.timeout = timeout
        self.client_id = f"py-{uuid.uuid4().hex[:12]}"
        self.reply_topic = f"{self.prefix}/reply/{self.client_id}"
        self._pending = {}          # correlation bytes -> queue of one reply
        self._handlers = []         # (topic filter, callback(topic, payload dict or None, raw bytes))
        self._lock = threading.Lock()
        self._subscribed = {}       # mid -> threading.Event
        self._connected = threading.Event()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                                   protocol=mqtt.MQTTv5)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        try:
            self._client.connect(host, port, keepalive=30)
        except OSError as error:
            raise Unavailable(f"cannot connect to the broker at {host}:{port}: {error}") from error
        self._client.loop_start()
        if not self._connected.wait(self.timeout):
            self.close()
            raise Unavailable(f"no CONNACK from {host}:{port} within {self.timeout} s")
        self.subscribe(self.reply_topic, None)

    def close(self):
        self._client.loop_stop()
        self._client.disconnect()

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        self.close()

    def subscribe(self, topic_filter, callback):
        """Subscribes (QoS 1) and returns once the broker has acknowledged it."""
        if callback is not None:
            with self._lock:
                self._handlers.append((topic_filter, callback))
        acknowledged = threading.Event()
        with self._lock:
            result, mid = self._client.subscribe(topic_filter, qos=1)
            self._subscribed[mid] = acknowledged
        if result != mqtt.MQTT_ERR_SUCCESS or not acknowledged.wait(self.timeout):
            raise Unavailable(f"subscribing to {topic_filter} failed")

    def request(self, operation, body, raw=None):
        """Sends one request and returns the reply (a dict). `raw` sends bytes as they are."""
        correlation = uuid.uuid4().bytes
        replies = queue.Queue(maxsize=1)
        with self._lock:
            self._pending[correlation] = replies
        properties = Properties(PacketTypes.PUBLISH)
        properties.ResponseTopic = self.reply_topic
        properties.CorrelationData = correlation
        payload = raw if raw is not None else json.dumps(body).encode()
        self._client.publish(f"{self.prefix}/api/{operation}", payload, qos=1, properties=properties)
        try:
            return replies.get(timeout=self.timeout)
        except queue.Empty:
            raise Unavailable(f"no reply to {operation} within {self.timeout} s: is the dispatcher running?") from None
        finally:
            with self._lock:
                self._pending.pop(correlation, None)

    # Callbacks run on paho's network thread.
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if not reason_code.is_failure:
            self._connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        with self._lock:
            event = self._subscribed.pop(mid, None)
        if event is not None and not any(code.is_failure for code in reason_codes):
            event.set()

    def _on_message(self, client, userdata, message):
        try:
            payload = json.loads(message.payload)
        except ValueError:
            payload = None
        if message.topic == self.reply_topic:
            correlation = getattr(message.properties, "CorrelationData", None)
            with self._lock:
                replies = self._pending.get(correlation)
            if replies is not None and payload is not None:
                replies.put_nowait(payload)
            return
        with self._lock:
            handlers = list(self._handlers)
        for topic_filter, callback in handlers:
            if mqtt.topic_matches_sub(topic_filter, message.topic):
                callback(message.topic, payload, message.payload)
