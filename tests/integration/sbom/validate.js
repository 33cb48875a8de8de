// Validates a CycloneDX 1.5 JSON document with @cyclonedx/cyclonedx-library's strict JSON
// validator (the schema CycloneDX ships, res/schema/bom-1.5.SNAPSHOT.schema.json).
// Usage: NODE_PATH=<dir>/node_modules node validate.js FILE; exit 0 valid, 1 invalid, 2 error.
const CDX = require('@cyclonedx/cyclonedx-library');
const fs = require('fs');
const v = new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot5);
v.validate(fs.readFileSync(process.argv[2], 'utf8')).then((err) => {
  if (err === null) { console.log('valid CycloneDX 1.5'); process.exit(0); }
  console.log(JSON.stringify(err, null, 1));
  process.exit(1);
}).catch((e) => { console.log('validator error: ' + e); process.exit(2); });
