// The camera reads a card: BarcodeDetector where the browser has one, else jsQR, which is
// loaded only when the camera is first opened (static/vendor/jsQR.js).

import { $, el } from "./ui.js";

export function loadJsQR(src) {
  if (window.jsQR) return Promise.resolve(window.jsQR);
  return new Promise((resolve, reject) => {
    const script = el("script", { src });
    script.onload = () => resolve(window.jsQR);
    script.onerror = reject;
    document.head.append(script);
  });
}

// A function from the video to the payload of the QR code it shows (null: none yet).
export async function qrReader(jsqrSrc) {
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) {
        const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        return async (video) => {
          const found = await detector.detect(video);
          return found.length ? found[0].rawValue : null;
        };
      }
    } catch (error) {
      // Fall through to jsQR.
    }
  }
  const jsQR = await loadJsQR(jsqrSrc);
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return async (video) => {
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    if (!canvas.width) return null;
    context.drawImage(video, 0, 0);
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    const code = jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
    return code ? code.data : null;
  };
}

// The page's camera panel (#camera, #camera-video, #camera-status): a card read goes to
// `onScan(payload)`; `focusScan` gives the scan input its focus back when the camera shuts.
export function createCamera({ texts: T, jsqr, onScan, focusScan }) {
  let stream = null;

  async function openCamera() {
    const video = $("camera-video");
    $("camera").hidden = false;
    $("camera-status").textContent = T.camera_hint;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      video.srcObject = stream;
      await video.play();
      const read = await qrReader(jsqr);
      watch(video, read);
    } catch (error) {
      $("camera-status").textContent = T.camera_failed;
      closeCamera(false);
    }
  }

  function watch(video, read) {
    const tick = async () => {
      if (!stream) return;
      let payload = null;
      try {
        payload = await read(video);
      } catch (error) {
        payload = null;
      }
      if (payload) {
        closeCamera(true);
        onScan(payload);
      } else {
        setTimeout(tick, 150);
      }
    };
    tick();
  }

  function closeCamera(hide) {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    if (hide) $("camera").hidden = true;
    focusScan();
  }

  return { openCamera, watch, closeCamera };
}
