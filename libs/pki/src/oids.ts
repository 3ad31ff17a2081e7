// Attribute types of subject and issuer names.
export const Oid = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  organizationalUnit: '2.5.4.11',
  // Teleport stores a user's traits as JSON in the postal code.
  postalCode: '2.5.4.17',
  // Teleport's private arc for the database route of a user certificate.
  dbServiceName: '1.3.9999.2.1',
  dbProtocol: '1.3.9999.2.2',
  dbUsername: '1.3.9999.2.3',
  dbName: '1.3.9999.2.4',
  dbRoles: '1.3.9999.2.19',
  subjectAltName: '2.5.29.17',
} as const;
