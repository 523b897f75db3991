#!/usr/bin/env python3
"""Records every message on a topic filter as JSON lines until SIGTERM or SIGINT.

    record.py HOST PORT FILTER OUTPUT READY_FILE

Writes READY_FILE once the subscription is acknowledged (so a test starts its workload
only then). Each line: {"topic", "payload" (text), "responseTopic", "correlation" (hex)}.
"""
import json
import signal
import sys
import threading

import paho.mqtt.client as mqtt


def main(host, port, topic_filter, output, ready_file):
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    lock = threading.Lock()
    sink = open(output, "w", encoding="utf-8")

    def on_connect(client, userdata, flags, reason_code, properties):
        client.subscribe(topic_filter, qos=1)

    def on_subscribe(client, userdata, mid, reason_codes, properties):
        with open(ready_file, "w", encoding="utf-8") as ready:
            ready.write("ready\n")

    def on_message(client, userdata, message):
        properties = message.properties
        record = {
            "topic": message.topic,
            "payload": message.payload.decode("utf-8", errors="replace"),
            "responseTopic": getattr(properties, "ResponseTopic", None),
            "correlation": getattr(properties, "CorrelationData", b"").hex() or None,
        }
        with lock:
            sink.write(json.dumps(record) + "\n")
            sink.flush()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="shoal-contract-recorder",
                         protocol=mqtt.MQTTv5)
    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    client.connect(host, int(port), keepalive=30)
    client.loop_start()
    while not stop.wait(0.2):  # wakes for the signal handler
        pass
    client.loop_stop()
    client.disconnect()
    sink.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
