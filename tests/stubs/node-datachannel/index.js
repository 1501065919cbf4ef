throw new Error('@ipshipyard/node-datachannel is a stub in modeldao: WebRTC is not available');
