// AudioWorklet processor "phone-io": microphone in (input 0) -> frames posted to the page; frames from the
// page -> speakers (output 0). Messages from the page: {type: "frame", buffer}, {type: "clear"},
// {type: "send", on: boolean} (send microphone frames only during a call).

import { Downlink, Uplink } from "./pipeline.js";

class PhoneProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.uplink = new Uplink(sampleRate);
    this.downlink = new Downlink(sampleRate);
    this.sending = false;
    this.port.onmessage = (event) => {
      const data = event.data;
      if (data.type === "frame") this.downlink.push(data.buffer);
      else if (data.type === "clear") this.downlink.clear();
      else if (data.type === "send") this.sending = Boolean(data.on);
    };
  }

  process(inputs, outputs) {
    const input = inputs[0] && inputs[0][0];
    if (input && this.sending) {
      for (const frame of this.uplink.process(input)) this.port.postMessage(frame, [frame]);
    }
    const output = outputs[0];
    if (output && output.length) {
      const samples = this.downlink.render(output[0].length);
      for (const channel of output) channel.set(samples);
    }
    return true;
  }
}

registerProcessor("phone-io", PhoneProcessor);
