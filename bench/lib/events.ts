/**
 * The benchmark's workload: cold-chain sensor readings (sensor_reporting), the most frequent event a
 * factory's cold rooms produce. Reading `n` names batch `epcClass`, is timed `n` ms after
 * `timeBase` (never in the future, after production) and differs from every other reading.
 */
export function sensorReading(n: number, epcClass: string, timeBase: number): Record<string, unknown> {
  return {
    type: "ObjectEvent",
    action: "OBSERVE",
    bizStep: "sensor_reporting",
    eventTime: new Date(timeBase + n).toISOString().replace("Z", "+00:00"),
    eventTimeZoneOffset: "+08:00",
    quantityList: [{ epcClass, quantity: 1000, uom: "XBX" }],
    readPoint: { district: "巴南区", name: "渝味冷库 2 号库" },
    sensorElementList: [
      {
        sensorMetadata: { deviceID: `cold-room-${n % 16}` },
        sensorReport: [
          { type: "Temperature", value: 2 + (n % 40) / 10, uom: "CEL" },
          { type: "RelativeHumidity", value: 60 + (n % 20), uom: "A93" },
        ],
      },
    ],
  };
}
