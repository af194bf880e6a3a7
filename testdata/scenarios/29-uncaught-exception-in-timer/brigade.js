console.log("scheduling");
setTimeout(() => {
  throw new RangeError("timer exploded");
}, 1);
setTimeout(() => console.log("later timer never runs"), 200);
